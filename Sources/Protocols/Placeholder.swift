public enum ProtocolsPlaceholder {}
