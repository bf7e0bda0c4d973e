//! HELD (RFC 5985, 6155, 6915, 6753, 7840), LoST (RFC 5222) and PIDF-LO (RFC 4119, 5491, 5139)
//! codecs: typed messages, parsed and serialised with quick-xml, namespaces resolved.
