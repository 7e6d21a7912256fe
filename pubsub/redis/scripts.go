package redis

import goredis "github.com/redis/go-redis/v9"

// The Lua scripts make each step that touches more than one structure
// atomic. Every key a script touches carries the hash tag of its topic or
// queue, so they all live in one slot of a Redis Cluster.

// lib is shared by the scripts below.
const lib = `
-- before tells whether stream ID a comes before b. IDs have no leading
-- zeros, so a longer number is a larger one; Lua's numbers would round
-- past 2^53.
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if am ~= bm then
    if #am ~= #bm then return #am < #bm end
    return am < bm
  end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end

local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
end

-- release deletes job id once no group of the queue still needs it: every
-- group has read past it and none holds it unacknowledged.
local function release(key, id)
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    if before(field(g, 'last-delivered-id'), id) then return 0 end
    if #redis.call('XPENDING', key, field(g, 'name'), id, id, 1) > 0 then return 0 end
  end
  return redis.call('XDEL', key, id)
end

-- bury moves job id of a group to the dead-letter queue.
local function bury(key, dead, group, id, attempts, reason)
  local e = redis.call('XRANGE', key, id, id)
  if #e > 0 then
    redis.call('XADD', dead, '*', 'd', field(e[1][2], 'd') or '', 'a', attempts, 'e', reason)
  end
  redis.call('XACK', key, group, id)
  release(key, id)
end
`

// publish: KEYS[1] the topic's history; ARGV history length, data, channel.
// Appending and fanning out in one script means no subscriber sees a message
// replay cannot find, and the ID travels with the payload. Each entry keeps
// the ID of the one before it (p): once MAXLEN ~ has trimmed, the oldest
// entry left names the newest one gone, which replay needs and Redis does
// not record (max-deleted-entry-id counts XDEL only).
var publishScript = goredis.NewScript(`
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local p = ''
if #last > 0 then p = last[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[2], 'p', p)
redis.call('SPUBLISH', ARGV[3], id .. '\n' .. ARGV[2])
return id
`)

// replay: KEYS[1] the topic's history; ARGV afterID (empty for the oldest
// kept), limit. Messages after afterID are gone when afterID is older than
// the newest trimmed one.
var replayScript = goredis.NewScript(lib + `
local start = '-'
if ARGV[1] ~= '' then
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
  local gone = #first > 0 and field(first[1][2], 'p') or ''
  if gone ~= '' and before(ARGV[1], gone) then
    return redis.error_reply('HISTORYGONE messages after ' .. ARGV[1] .. ' were trimmed')
  end
  start = '(' .. ARGV[1]
end
return redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', ARGV[2])
`)

// claim: KEYS queue, dead-letter queue; ARGV group, consumer, min idle ms,
// cursor, max deliveries. It takes over at most one job whose lease ran out
// and returns {cursor, [id, fields, deliveries]}. A job delivered too often
// already goes to the dead-letter queue instead. XAUTOCLAIM does not say how
// often a job was delivered, hence XPENDING.
var claimScript = goredis.NewScript(lib + `
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', 1)
local out = {r[1]}
for _, e in ipairs(r[2]) do
  if type(e) == 'table' then
    local n = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)[1][4]
    if n > tonumber(ARGV[5]) then
      bury(KEYS[1], KEYS[2], ARGV[1], e[1], n - 1, 'not acknowledged within the visibility timeout')
    else
      table.insert(out, {e[1], e[2], n})
    end
  end
end
return out
`)

// ack: KEYS queue; ARGV group, id.
var ackScript = goredis.NewScript(lib + `
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return release(KEYS[1], ARGV[2])
`)

// fail: KEYS queue, dead-letter queue; ARGV group, consumer, id, attempts,
// reason. It buries a job that failed its last delivery, unless another
// consumer took it over meanwhile: then the decision is theirs.
var failScript = goredis.NewScript(lib + `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
bury(KEYS[1], KEYS[2], ARGV[1], ARGV[3], ARGV[4], ARGV[5])
return 1
`)

// leave: KEYS queue; ARGV group, consumer. It forgets a consumer that holds
// no job, so groups do not collect the names of every process that ever ran.
// One that holds jobs stays: deleting it would drop them from the group.
var leaveScript = goredis.NewScript(`
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
`)
