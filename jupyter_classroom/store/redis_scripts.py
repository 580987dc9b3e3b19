"""The Lua scripts of :class:`~.redis.RedisStore`: each write that must be atomic, one script.

Each says which KEYS and ARGV it takes and what it returns; the store registers them once
(``Redis.register_script``: EVALSHA, loaded again if Redis restarted).
"""

# KEYS: index, index counter, room, members, order, ops, opmeta, pending, chat, owner's rooms
# ARGV: room id, record JSON, max rooms (-1: none), max rooms of the owner (-1: none)
# -> 1 added, -1 the server's limit, -2 the owner's
ADD_ROOM = """
local new = not redis.call('ZSCORE', KEYS[1], ARGV[1])
if new and tonumber(ARGV[3]) >= 0 and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return -1
end
if new and tonumber(ARGV[4]) >= 0 and redis.call('SCARD', KEYS[10]) >= tonumber(ARGV[4]) then
  return -2
end
redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
redis.call('HSET', KEYS[3], 'record', ARGV[2], 'seq', 0, 'floor', 0, 'gen', 0,
           'present', 0, 'morder', 0, 'owned', KEYS[10])
redis.call('SADD', KEYS[10], ARGV[1])
if new then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[2]), ARGV[1])
end
return 1
"""

# KEYS: index, room, then the room's other data keys; ARGV: room id
DELETE_ROOM = """
local owned = redis.call('HGET', KEYS[2], 'owned')
if owned then redis.call('SREM', owned, ARGV[1]) end
redis.call('DEL', unpack(KEYS, 2))
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
"""

# KEYS: room; ARGV: record JSON
SAVE_ROOM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'record', ARGV[1])
return 1
"""

# KEYS: room, members, order; ARGV: member id, MemberRecord JSON
SAVE_MEMBER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[1], 'morder', 1), ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

# KEYS: room
NEXT_PRESENT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HINCRBY', KEYS[1], 'present', 1)
"""

# KEYS: room, opmeta, ops, pending
# ARGV: op id, author, op type, the BoardOp JSON after its "seq" member (starting with ','),
#       the op's size in bytes, "1" for an image, the board's byte budget and the author's
#       image budget (0: none)
# -> -1 no room, 0 duplicate op id, {-2, bytes} over the board's budget, {-3, bytes} over the
#    author's image budget, else {seq, pending extends}
APPEND_OP = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local size = tonumber(ARGV[5])
local used = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
if tonumber(ARGV[7]) > 0 and used + size > tonumber(ARGV[7]) then return {-2, used} end
if ARGV[6] == '1' then
  local mine = tonumber(redis.call('HGET', KEYS[1], 'img:' .. ARGV[2]) or '0')
  if tonumber(ARGV[8]) > 0 and mine + size > tonumber(ARGV[8]) then return {-3, mine} end
  redis.call('HINCRBY', KEYS[1], 'img:' .. ARGV[2], size)
end
redis.call('HINCRBY', KEYS[1], 'bytes', size)
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('ZADD', KEYS[3], seq, '{"seq":' .. seq .. ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. seq)
local pending = 0
if ARGV[3] == 'extend' then pending = redis.call('RPUSH', KEYS[4], seq) end
return {seq, pending}
"""

# KEYS: room, ops, pending
# ARGV: gen read before the fold, pending entries consumed, new floor, strokes rewritten,
#       then (seq, BoardOp JSON) per stroke, then the seqs of the extends to remove
APPLY_FOLD = """
if redis.call('HGET', KEYS[1], 'gen') ~= ARGV[1] then return 0 end
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  redis.call('ZREMRANGEBYSCORE', KEYS[2], ARGV[i], ARGV[i])
  redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call('ZREMRANGEBYSCORE', KEYS[2], ARGV[i], ARGV[i])
  i = i + 1
end
redis.call('LTRIM', KEYS[3], tonumber(ARGV[2]), -1)
redis.call('HSET', KEYS[1], 'floor', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'gen', 1)
return 1
"""

# KEYS: room, ops; ARGV: since ('' for none) -> false (no room) or {seq, complete, ops}
BOARD = """
local h = redis.call('HMGET', KEYS[1], 'seq', 'floor')
if not h[1] then return false end
local seq = tonumber(h[1])
if ARGV[1] ~= '' then
  local since = tonumber(ARGV[1])
  if tonumber(h[2]) <= since and since <= seq then
    return {seq, 0, redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')}
  end
end
return {seq, 1, redis.call('ZRANGE', KEYS[2], 0, -1)}
"""

# KEYS: room, chat; ARGV: message JSON, backlog
APPEND_CHAT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local backlog = tonumber(ARGV[2])
if backlog <= 0 then redis.call('DEL', KEYS[2]) return 1 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -backlog, -1)
return 1
"""

# KEYS: failure counter; ARGV: window in ms. The window runs from the first failure.
ADD_FAILURE = """
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""

# KEYS: failure counter. One less (the window's expiry stays); gone at zero.
REFUND_FAILURE = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 1 then return redis.call('DECR', KEYS[1]) end
redis.call('DEL', KEYS[1])
return 0
"""

# KEYS: lock; ARGV: token
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: lock; ARGV: token, lease in ms
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# The tools of a lesson. Each write checks that the room still exists, so that a write racing
# the room's delete leaves no key behind.

# KEYS: room, hands (order), handq (JSON); ARGV: member id, Hand JSON -> 1 raised, 0 not
RAISE_HAND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 0 end
redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[1], 'hands', 1), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return 1
"""

# KEYS: hands (order), handq (JSON); ARGV: member id ('' the first) -> the Hand JSON or nil
LOWER_HAND = """
local id = ARGV[1]
if id == '' then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0)
  if #first == 0 then return false end
  id = first[1]
end
local hand = redis.call('HGET', KEYS[2], id)
redis.call('ZREM', KEYS[1], id)
if not hand then return false end
redis.call('HDEL', KEYS[2], id)
return hand
"""

# KEYS: room; ARGV: field, value ('' deletes the field)
SAVE_FIELD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
"""

# KEYS: the deadlines; ARGV: now, now + lease. The due rooms, each leased in the same step
# (one claimant; claimed again after the lease if its claimant died before recalling).
CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, room in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], room) end
return due
"""

# KEYS: room, kept; ARGV: breakout id, BoardState JSON
KEEP_BOARD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""


# Shared notebooks. KEYS: room, nb, heads, outs, log
# ARGV: share id, header JSON, order JSON, active ('' none), bytes, cells, then per cell its
# id, head JSON and outputs JSON -> false (no room) or the replaced share's header fields
START_NOTEBOOK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local prev = redis.call('HMGET', KEYS[2], 'share', 'header', 'seq', 'live', 'order', 'active',
                        'bytes')
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[2], 'share', ARGV[1], 'header', ARGV[2], 'seq', 0, 'live', 1,
           'order', ARGV[3], 'active', ARGV[4], 'bytes', ARGV[5], 'logbytes', 0)
local i = 7
for _ = 1, tonumber(ARGV[6]) do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 2])
  i = i + 3
end
return prev
"""

# KEYS: room, nb, heads, outs, log
# ARGV: share id, seq read, the batch's JSON after its "seq" member, bytes, order changed
#       ('1'), order JSON, active changed ('1'), active, log size, log bytes, heads, outputs,
#       deleted, then (id, head JSON) pairs, (id, outputs JSON) pairs, deleted ids
# -> 0 (the share moved on: nothing written) or the new seq
COMMIT_NOTEBOOK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local h = redis.call('HMGET', KEYS[2], 'share', 'seq', 'live')
if h[1] ~= ARGV[1] or h[2] ~= ARGV[2] or h[3] ~= '1' then return 0 end
local i = 14
local nh, no, nd = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local heads, outs = i, i + 2 * nh
local deleted = outs + 2 * no
for j = deleted, deleted + nd - 1 do
  redis.call('HDEL', KEYS[3], ARGV[j])
  redis.call('HDEL', KEYS[4], ARGV[j])
end
for j = heads, outs - 1, 2 do redis.call('HSET', KEYS[3], ARGV[j], ARGV[j + 1]) end
for j = outs, deleted - 1, 2 do redis.call('HSET', KEYS[4], ARGV[j], ARGV[j + 1]) end
if ARGV[5] == '1' then redis.call('HSET', KEYS[2], 'order', ARGV[6]) end
if ARGV[7] == '1' then redis.call('HSET', KEYS[2], 'active', ARGV[8]) end
redis.call('HSET', KEYS[2], 'bytes', ARGV[4])
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local entry = '{"seq":' .. seq .. ARGV[3]
redis.call('RPUSH', KEYS[5], entry)
local used = redis.call('HINCRBY', KEYS[2], 'logbytes', #entry)
local size, most = tonumber(ARGV[9]), tonumber(ARGV[10])
while redis.call('LLEN', KEYS[5]) > 0 and (redis.call('LLEN', KEYS[5]) > size or used > most) do
  used = redis.call('HINCRBY', KEYS[2], 'logbytes', -#redis.call('LPOP', KEYS[5]))
end
return seq
"""

# KEYS: nb, log; ARGV: share id, since -> false (cannot serve) or the batches after since
NOTEBOOK_BATCHES = """
local h = redis.call('HMGET', KEYS[1], 'share', 'seq')
if h[1] ~= ARGV[1] then return false end
local seq, since = tonumber(h[2]), tonumber(ARGV[2])
if since > seq then return false end
if since == seq then return {} end
if redis.call('LLEN', KEYS[2]) < seq - since then return false end
return redis.call('LRANGE', KEYS[2], since - seq, -1)
"""

# KEYS: nb; ARGV: share id -> 1 stopped, 0 not the live share
STOP_NOTEBOOK = """
local h = redis.call('HMGET', KEYS[1], 'share', 'live')
if h[1] ~= ARGV[1] or h[2] ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 'live', 0)
return 1
"""

# KEYS: the VideoRoom record, room; ARGV: expected ('' none), new ('' remove). The record
# after ('' none); a record is only made while the room exists.
SWAP_VIDEO_ROOM = """
local now = redis.call('GET', KEYS[1]) or ''
if now ~= ARGV[1] then return now end
if ARGV[1] == '' and redis.call('HEXISTS', KEYS[2], 'record') == 0 then return '' end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return ARGV[2]
"""

# KEYS: room; ARGV: mode. 1 when this call decided the room's mode.
SET_VIDEO_MODE = """
if redis.call('HEXISTS', KEYS[1], 'record') == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'video_mode', ARGV[1])
"""

# KEYS: room; ARGV: policy (JSON). 1 when the room exists (then it is kept).
SET_VIDEO_POLICY = """
if redis.call('HEXISTS', KEYS[1], 'record') == 0 then return 0 end
redis.call('HSET', KEYS[1], 'video_policy', ARGV[1])
return 1
"""

# KEYS: room, sharers; ARGV: member id, '1' allow / '0' not -> the sharers in order
ALLOW_SHARER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if ARGV[2] == '1' then
  if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
    redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[1], 'sharers', 1), ARGV[1])
  end
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return redis.call('ZRANGE', KEYS[2], 0, -1)
"""
