// Catch2's session, then the skip summary: skips are counted, listed, and fail the run where
// the environment promises every capability (tests/support/skips.h).
#define CATCH_CONFIG_RUNNER
#include "tests/support/test_main.h"
