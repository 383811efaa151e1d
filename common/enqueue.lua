-- One intake request in one atomic step: admission, storm counting, dedup, digest routing,
-- enqueue with coalescing, and pressure-alert bookkeeping. An item is marked seen if and only
-- if the message carrying it is written in the same run, so no crash can separate the two.
--
-- ARGV[1]: the offer (JSON, see common/enqueue.py), ARGV[2]: a fresh id base for new
-- messages, then four envelope templates per route (prefix, suffix, update prefix, update
-- suffix). Each candidate is [seen key, state, items (comma-joined JSON objects), inputs,
-- route index, storm set, storm member, forced digest buffer, storm digest buffer].
local h = cjson.decode(ARGV[1])
local id_base = ARGV[2]
local candidates = h.candidates
for i, route in ipairs(h.routes) do
  local t = 2 + 4 * (i - 1)
  route.p, route.s, route.up, route.us = ARGV[t + 1], ARGV[t + 2], ARGV[t + 3], ARGV[t + 4]
end

-- Admission: bulk work is refused while its backlog is over the cap, before any write.
if h.admit then
  local messages = 0
  for _, list in ipairs(h.admit.lists) do messages = messages + redis.call('LLEN', list) end
  local backlog = messages * h.admit.per_message
  if backlog >= h.admit.cap then
    local answer = {-1, backlog}
    for _, key in ipairs(h.admit.drained) do
      answer[#answer + 1] = tonumber(redis.call('GET', key)) or 0
    end
    return answer
  end
end

-- Storms: sets of fingerprints, so Alertmanager's re-sends never look like a storm.
local storm_size = {}
for _, c in ipairs(candidates) do
  if c[6] ~= '' then
    redis.call('SADD', c[6], c[7])
    storm_size[c[6]] = 0
  end
end
for set in pairs(storm_size) do
  redis.call('EXPIRE', set, h.storm_ttl)
  storm_size[set] = redis.call('SCARD', set)
end

-- Dedup: new items go to their route's queue (or a digest buffer), changed ones to its
-- update queue or back to embedding, unchanged ones nowhere.
local pending, order = {}, {}
local function add(list, task, p, s, coalesce, items, inputs)
  local pend = pending[list]
  if not pend then
    pend = {task = task, p = p, s = s, coalesce = coalesce, items = {}, inputs = {}}
    pending[list] = pend
    order[#order + 1] = list
  end
  pend.items[#pend.items + 1] = items
  pend.inputs[#pend.inputs + 1] = inputs
end
local fresh, changed, dups = 0, 0, 0
local buffers = {}
for _, c in ipairs(candidates) do
  local seen, state, items, inputs = c[1], c[2], c[3], c[4]
  local route = h.routes[c[5]]
  local set, digest = c[6], c[8]
  if digest == '' and set ~= '' and storm_size[set] > h.storm_threshold then
    digest = c[9]
  end
  local old = redis.call('GET', seen)
  if old == state then
    redis.call('EXPIRE', seen, route.ttl)
    dups = dups + 1
  else
    redis.call('SET', seen, state, 'EX', route.ttl)
    if old and route.change == 'update' then
      changed = changed + 1
      -- Status updates always coalesce: they are small, and nothing tops them up later.
      add(route.ulist, route.utask, route.up, route.us, true, items, inputs)
    else
      fresh = fresh + 1
      if digest ~= '' then
        -- Digest: items gather in a buffer the controller turns into one message when due.
        redis.call('RPUSH', digest, items)
        buffers[digest] = true
      else
        add(route.list, route.task, route.p, route.s, route.coalesce, items, inputs)
      end
    end
  end
end
for buffer in pairs(buffers) do redis.call('ZADD', h.digests, 'NX', h.digest_due, buffer) end

-- Enqueue with coalescing: items join the newest message of their list while it is still
-- queued (nobody has taken it) and has room, so a backlog is made of full batches. The
-- tail record names that message exactly (by its unique id, found right after the body);
-- anything else at the head (a retry, a digest, a replayed message) is never touched.
-- Merging copies the whole queued message, so a route whose workers top up their own
-- batches (alerts, the hot path) skips it and pushes each request's items as they come.
local created, merged, serial = 0, 0, 0
-- JSON string escaping works character by character, so the encoded body of a message can be
-- extended in place: what goes before the encoded body suffix is the encoded new items. No
-- decode and re-encode of the message, whatever its size.
local function escaped(text) return string.sub(cjson.encode(text), 2, -2) end
local body_end = escaped(h.bs) .. '"'
local function tail_room(list, task)
  local tail = redis.call('HMGET', h.tail .. list, 'id', 'slen', 'n', 't')
  if not tail[1] or tail[4] ~= task then return 0 end
  local head = redis.call('LINDEX', list, 0)
  if not head or #head > h.max_bytes then return 0 end
  local slen = tonumber(tail[2])
  -- The id is unique and sits in the envelope after the body: finding it there, right
  -- after the body's end, names the message exactly.
  local body_at = #head - slen - #body_end
  if string.sub(head, body_at + 1, body_at + #body_end) ~= body_end
      or not string.find(head, '"' .. tail[1] .. '"', body_at + #body_end + 1, true) then
    return 0
  end
  return h.max_items - tonumber(tail[3]), head, body_at, tonumber(tail[3])
end
local function merge(list, head, body_at, n, batch, inputs)
  local added = escaped(',' .. table.concat(batch, ','))
  redis.call('LSET', list, 0, string.sub(head, 1, body_at) .. added .. string.sub(head, body_at + 1))
  redis.call('HSET', h.tail .. list, 'n', n + inputs)
  merged = merged + 1
end
local function push(list, pend, batch, inputs)
  serial = serial + 1
  local id = id_base .. serial
  local p = (string.gsub(pend.p, '@@ID@@', id))
  local s = (string.gsub(pend.s, '@@ID@@', id))
  local body = h.bp .. table.concat(batch, ',') .. h.bs
  redis.call('LPUSH', list, p .. cjson.encode(body) .. s)
  if pend.coalesce then
    redis.call('HSET', h.tail .. list, 'id', id, 'slen', #s, 'n', inputs, 't', pend.task)
    redis.call('EXPIRE', h.tail .. list, h.tail_ttl)
  end
  created = created + 1
end
for _, list in ipairs(order) do
  local pend = pending[list]
  local room, head, body_at, n = 0, nil, 0, 0
  if pend.coalesce then room, head, body_at, n = tail_room(list, pend.task) end
  local batch, inputs = {}, 0
  local function flush()
    if room > 0 then merge(list, head, body_at, n, batch, inputs) else push(list, pend, batch, inputs) end
    room, batch, inputs = 0, {}, 0
  end
  for j = 1, #pend.items do
    local k = pend.inputs[j]
    if #batch == 0 and room > 0 and k > room then room = 0 end
    local limit = room > 0 and room or h.max_items
    if #batch > 0 and inputs + k > limit then flush() end
    batch[#batch + 1] = pend.items[j]
    inputs = inputs + k
  end
  if #batch > 0 then flush() end
end

-- Pressure alerts: firing ones pause bulk work; resolved ones keep it paused for a cool-down.
if h.pressure then
  redis.call('ZREMRANGEBYSCORE', h.pressure.key, '-inf', h.now)
  for _, entry in ipairs(h.pressure.entries) do
    redis.call('ZADD', h.pressure.key, entry[2], entry[1])
  end
end
return {fresh, changed, dups, created, merged}
