// Makes a plain `swift test` find what scripts/test would have exported (see test_environment.c).
#pragma once

/// The repository root this test bundle was built from (from this file's compile-time path).
const char *cdctop_test_repository_root(void);
