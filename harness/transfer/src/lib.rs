//! The chat transfer web service of ETSI TS 103 698 clause 6.3 (HTTP-3): negotiation and
//! execution, both ends, with Annex A JSON Schema validation.
