//! Simulated LIS and ECRF: HELD and LoST services over HTTP, backed by data files (service
//! boundaries, device-identity to location tables), with point/shape-in-area mapping.
