//! HTTP binding (todo).
