// Package faults proves promoflow's reliability claims against the real
// stack: a worker killed mid-training, MinIO, PostgreSQL or the Temporal dev
// server taken away mid-run, two people promoting at once, the scoring
// service swapping versions under load, and a table of bad inputs.
//
// The package holds tests only. The fault tests stop and start servers, so
// they run only on a stack instance of their own: scripts/test-faults.sh
// starts one on other ports and in another state folder, sets
// PROMOFLOW_FAULTS=1 and PROMOFLOW_STACK_DIR, and stops it afterwards. They
// skip otherwise and never touch the shared default stack (.stack/). The
// bad-input tests and the fuzz targets' seed corpora only read and write
// their own schema and bucket, so they also run in `make test`. See
// docs/faults.md.
package faults
