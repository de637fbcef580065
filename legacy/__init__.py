"""Sunbird course-service compatible APIs (content state update/read, enrolment list), served
from the new view, assessment and summary operations."""
