/// What a loop has done since it started, for metrics (`/metrics`) and benchmarks. Counting is a
/// handful of integer additions on the loop's own memory; nothing here is atomic or shared, so
/// read it on the loop's thread.
public struct LoopStatistics: Sendable {
    public var bytesRead: UInt64 = 0
    public var bytesWritten: UInt64 = 0
    /// read(2) calls that returned data, and send/sendmsg calls.
    public var reads: UInt64 = 0
    public var writes: UInt64 = 0
    public var accepted: UInt64 = 0
    public var closed: UInt64 = 0
    /// Accepted connections closed at once because their descriptor was beyond the loop's
    /// descriptor table (`EventLoopConfiguration.maxDescriptors`, or the hard limit raised after
    /// the loop started).
    public var refusedDescriptors: UInt64 = 0
    public var iterations: UInt64 = 0
    /// Times another thread woke the loop through its handle (`execute`, a job from elsewhere).
    public var wakeups: UInt64 = 0
    /// Jobs of Swift concurrency run on the loop: a task started or resumed there, an actor's job.
    public var jobs: UInt64 = 0

    /// How long each iteration's work took (from its wait's return to the next wait: its
    /// dispatch, timers and jobs, and the sends deferred to before the next wait), in buckets by
    /// powers of two of microseconds: bucket i counts iterations that took less than 2^i µs (the
    /// last bucket: everything longer). An iteration is counted here when the next one begins.
    public var iterationMicrosecondsBuckets: [UInt64] { (0..<Self.bucketCount).map { buckets[$0] } }
    public var iterationNanosecondsTotal: UInt64 = 0
    public static let bucketCount = 24
    /// Inline, not an Array: counting an iteration then costs no copy-on-write check
    /// (`isUniquelyReferenced`, on every iteration of the loop).
    private var buckets = InlineArray<24, UInt64>(repeating: 0)

    /// The upper bound (µs) of bucket `i`, or nil for the last (unbounded) bucket.
    public static func bucketUpperBoundMicroseconds(_ i: Int) -> UInt64? {
        i < bucketCount - 1 ? UInt64(1) << UInt64(i) : nil
    }

    /// The duration of an iteration (`iterations` is counted as each ends).
    mutating func recordIteration(nanoseconds: UInt64) {
        iterationNanosecondsTotal &+= nanoseconds
        let micros = nanoseconds / 1000
        let bucket = micros == 0 ? 0 : min(Self.bucketCount - 1, UInt64.bitWidth - micros.leadingZeroBitCount)
        buckets[bucket] &+= 1
    }
}
