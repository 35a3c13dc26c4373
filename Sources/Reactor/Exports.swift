// `SharedBytes` lives below the loop and the protocol machines alike (the `Bytes` target): the loop
// queues it by reference, a machine encodes into it. Re-exported so `import Reactor` keeps
// bringing it, as it did when the type lived here.
@_exported import Bytes
