// Package flagsbench holds the in-process flag evaluation benchmarks: Portal's compiled evaluator and flagd's
// reference evaluator (github.com/open-feature/flagd/core v0.16.1) on the same flags and contexts, in one run, so
// the budget (a targeting evaluation under 1 µs) is read beside its anchor. run.sh runs them and then the OFREP
// load test; README.md records the results.
package flagsbench
