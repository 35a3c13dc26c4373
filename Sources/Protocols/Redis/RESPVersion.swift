/// The RESP dialect a Redis connection speaks: RESP2, or RESP3 once `HELLO 3` succeeded.
public enum RESPVersion: Sendable, Equatable { case resp2, resp3 }
