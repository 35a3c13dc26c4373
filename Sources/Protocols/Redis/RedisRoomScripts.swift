/// The keys, channel and Lua scripts through which processes share rooms in Redis.
///
/// Per room, two keys with the room as hash tag (so a Redis Cluster keeps them in one slot, as a
/// script needs): `reactor:{room}:seq`, the room's counter (INCR), and `reactor:{room}:log`, a
/// stream of its recent messages whose entry ids are `<id>-1`, so "everything after id n" is one
/// XRANGE. Every message is also PUBLISHed on one channel for all rooms, `reactor:events`.
public enum RedisRoomScripts {
    public static let channel = "reactor:events"

    public static func counterKey(_ room: String) -> String { "reactor:{\(room)}:seq" }
    public static func streamKey(_ room: String) -> String { "reactor:{\(room)}:log" }

    /// Numbers, stores and publishes one message, atomically (a script runs alone), so ids are
    /// consecutive and every process sees them in id order on the channel.
    ///
    /// KEYS: counter, stream. ARGV: channel, room, text, origin, floor, retry, stream length.
    /// - `floor`: the publisher's newest id in the room. After Redis lost its data (a restart
    ///   without persistence) the counter would start again at 1; the id is kept above every id
    ///   the publisher has seen, and above the stream's newest entry.
    /// - `retry` = 1 for a publish that was in flight when a connection dropped: if the stream
    ///   already holds its origin (it ran, only the reply was lost), its id is returned and
    ///   nothing is published twice. Only the newest 1,000 entries are searched.
    /// Returns the id.
    public static let publish = """
        if ARGV[6] == '1' then
          local recent = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1000)
          for _, e in ipairs(recent) do
            local f = e[2]
            for i = 1, #f - 1, 2 do
              if f[i] == 'o' and f[i + 1] == ARGV[4] then
                return tonumber(string.match(e[1], '^(%d+)'))
              end
            end
          end
        end
        local id = redis.call('INCR', KEYS[1])
        local floor = tonumber(ARGV[5])
        local top = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
        if top[1] then
          local newest = tonumber(string.match(top[1][1], '^(%d+)'))
          if newest > floor then floor = newest end
        end
        if id <= floor then
          id = floor + 1
          redis.call('SET', KEYS[1], string.format('%d', id))
        end
        local ids = string.format('%d', id)
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], ids .. '-1', 'o', ARGV[4], 'd', ARGV[3])
        redis.call('PUBLISH', ARGV[1], string.len(ARGV[2]) .. ':' .. ARGV[2] .. ids .. ':' .. ARGV[4] .. ':' .. ARGV[3])
        return id
        """

    /// Raises a room's counter to at least ARGV[1] (never lowers it): sent for every known room
    /// after a reconnect, so a Redis that restarted empty continues each room where the processes
    /// left off, whichever of them publishes first.
    public static let seed = """
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
        return current
        """

    /// The SHA-1 of a script in hex, as SCRIPT LOAD returns it and EVALSHA takes it.
    public static func sha(_ script: String) -> String {
        Array(script.utf8).withUnsafeBytes { SHA1.digest($0).description }
    }
}
