// Counts heap allocations made by the calling thread, for cdctop-dev's performance gate.
// Linked into cdctop-dev only: its malloc family forwards to glibc's and counts while a thread
// has counting on, so an allocation per message shows as a number, not as noise in a timing.
#pragma once
#include <stdint.h>

/// Starts counting this thread's allocations from zero.
void cdctop_alloc_counting_begin(void);
/// Stops counting on this thread and returns the allocations (malloc, calloc, realloc, the aligned forms) since begin.
uint64_t cdctop_alloc_counting_end(void);
