// The executable defines malloc & co.; the dynamic linker binds every library's calls (the Swift
// runtime's swift_slowAlloc, Foundation, libc) to these, which count and forward to glibc's own
// entry points (__libc_malloc…), so the heap itself is glibc's, unchanged.
#include "alloc_counter.h"
#include <stddef.h>
#include <errno.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

// Per thread: only the measured thread counts, whatever other threads do meanwhile.
static __thread int counting;
static __thread uint64_t allocations;
static inline void note(void) {
    if (counting) allocations += 1;
}

void *malloc(size_t size) { note(); return __libc_malloc(size); }
void *calloc(size_t count, size_t size) { note(); return __libc_calloc(count, size); }
void *realloc(void *pointer, size_t size) { note(); return __libc_realloc(pointer, size); }
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
void *aligned_alloc(size_t alignment, size_t size) { note(); return __libc_memalign(alignment, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    note();
    void *p = __libc_memalign(alignment, size);
    if (p == NULL && size != 0) return ENOMEM;
    *out = p;
    return 0;
}

void cdctop_alloc_counting_begin(void) { allocations = 0; counting = 1; }
uint64_t cdctop_alloc_counting_end(void) { counting = 0; return allocations; }
