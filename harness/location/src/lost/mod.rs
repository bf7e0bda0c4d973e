//! LoST (RFC 5222).
