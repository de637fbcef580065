-- POST /v1/view/read of two seeded contents of one user, in rotation. See common.lua.
local bench = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

bench.body = function(k, u, c, msgid)
  return string.format(
    '{"id":"api.view.read","ver":"v1","params":{"msgid":"%s"},"request":{' ..
    '"userId":"%s","contentId":["%s","%s"],"collectionId":"%s","contextId":"%s"}}',
    msgid, bench.user(u), bench.content(c), bench.content((c + 1) % bench.contents),
    bench.collection, bench.context)
end
