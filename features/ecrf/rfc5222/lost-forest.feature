# IUT: an ECRF in a forest of LoST servers. The harness is the LoST client and asks about a
# location another server of the forest serves: the embedded ECRF leaves area C (16.8-17.2 E,
# 48.0-48.4 N) to ecrf-c.lmpe.test (a second lmpe-locsvc ECRF); a real ECRF names such a point
# and server in the target file ([ecrf] forest_point, forest_server), else these are skipped.
# Clause: RFC 5222 8.3.3 (recursion and iteration), 6 (the path of a request), 13 (loop).
@clause-RFC5222-8.3.3 @LoST @location-iut
Feature: LoST recursion, iteration and loops (ECRF, RFC 5222)

  Background:
    Given an ECRF under test

  @TP_ECRF_LOST1_RECURSIVE_BV_01 @clause-RFC5222-6 @BV
  Scenario: A recursive findService for a location another server serves is answered with that server's mapping, the path naming both
    When the harness asks the ECRF recursively for "urn:service:sos" at a point another LoST server serves
    Then the ECRF answers with that server's mapping, its path naming the ECRF and then that server (RFC 5222 6)

  @TP_ECRF_LOST1_ITERATIVE_BV_01 @BV
  Scenario: An iterative findService for a location another server serves is answered with a redirect, not by recursion
    When the harness asks the ECRF iteratively for "urn:service:sos" at a point another LoST server serves
    Then the ECRF does not recurse: it redirects to that server or answers itself (RFC 5222 8.3.3)

  @TP_ECRF_LOST1_LOOP_BI_01 @clause-RFC5222-13 @BI
  Scenario: A recursive findService whose path already names the server to ask next is answered with a loop error
    When the harness asks the ECRF recursively for "urn:service:sos" at a point another LoST server serves, with a path that already names that server
    Then the ECRF answers with the LoST error "loop" (RFC 5222 13)
