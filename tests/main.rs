//! Integration tests (one binary): the conformance run and its ability to fail, and the
//! reference ESInet as a separate process facing malformed input and a full chat.

mod conformance;
mod coverage;
mod kamailio_conformance;
mod load;
mod prosody_cusax;
mod prosody_warning;
mod sipp;
mod sipp_peers;
mod support;
mod sut;
mod target;
