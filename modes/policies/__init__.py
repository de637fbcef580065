"""Tracking-mode policies: one stateless class per mode (see ``base.TrackingPolicy``)."""
