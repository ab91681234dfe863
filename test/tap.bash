# test/tap.bash: the TAP lines of the suites that stop at their first
# failure (test/suite.bash's, test/replicas.sh, test/evicted_buffers.sh),
# sourced.  (Not *.sh, so test/run does not take it for a suite.)

ok() { echo "ok - $*"; }
fail() { echo "not ok - $*"; exit 1; }
