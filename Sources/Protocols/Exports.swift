// `SharedBytes` (the `Bytes` target) is what a machine encodes a broadcast into and what the pub/sub
// topic caches per wire format; re-exported so a user of the machines alone needs one import.
@_exported import Bytes
