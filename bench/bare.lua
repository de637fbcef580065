-- POST /bench/bare: the same bodies as update.lua, to the bare DRF endpoint. See common.lua.
local bench = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

bench.body = function(k, u, c, msgid)
  return string.format(
    '{"id":"api.view.update","ver":"v1","params":{"msgid":"%s"},"request":{' ..
    '"userId":"%s","contentId":"%s","collectionId":"%s","contextId":"%s",' ..
    '"progress":%d,"progressDetails":{"position":%d,"page":%d,"mimeType":"application/pdf"}}}',
    msgid, bench.user(u), bench.content(c), bench.collection, bench.context,
    k % 101, (k * 37) % 3600, k % 40 + 1)
end
