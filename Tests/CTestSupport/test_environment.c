// Runs when the test bundle loads, before any test and before Swift code: what scripts/test sets up
// in the environment, done here so a plain `swift test` behaves the same.
//  - TERM: the dashboard's curses code needs a terminal type, even where CI sets none.
//  - LD_LIBRARY_PATH: Tansu needs librdkafka 2.16 (scripts/deps puts it in .run/lib; Debian's 2.0.2
//    cannot talk to it). The dynamic linker has already loaded librdkafka by now, so the process
//    re-executes itself once with the folder first on LD_LIBRARY_PATH (children inherit it too).
#define _GNU_SOURCE
#include "test_environment.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char repository_root[PATH_MAX];

const char *cdctop_test_repository_root(void) {
    if (repository_root[0] == 0) {
        // SwiftPM compiles with absolute paths: <root>/Tests/CTestSupport/test_environment.c.
        const char *marker = strstr(__FILE__, "/Tests/CTestSupport/");
        if (__FILE__[0] == '/' && marker != NULL && (size_t)(marker - __FILE__) < sizeof(repository_root)) {
            memcpy(repository_root, __FILE__, (size_t)(marker - __FILE__));
        } else if (getcwd(repository_root, sizeof(repository_root)) == NULL) {
            repository_root[0] = '.';
        }
    }
    return repository_root;
}

/// True when `folder` is one of the colon-separated entries of `list`.
static int list_contains(const char *list, const char *folder) {
    size_t length = strlen(folder);
    for (const char *entry = list; entry != NULL && *entry != 0;) {
        const char *end = strchr(entry, ':');
        size_t entryLength = end ? (size_t)(end - entry) : strlen(entry);
        if (entryLength == length && strncmp(entry, folder, length) == 0) return 1;
        entry = end ? end + 1 : NULL;
    }
    return 0;
}

__attribute__((constructor)) static void cdctop_test_environment(int argc, char **argv, char **envp) {
    (void)argc; (void)envp;
    const char *term = getenv("TERM");
    if (term == NULL || term[0] == 0) setenv("TERM", "xterm-256color", 1);

    char fallback[PATH_MAX];
    const char *library = getenv("CDCTOP_RDKAFKA_216");
    if (library == NULL || library[0] == 0) {
        char probe[PATH_MAX];
        snprintf(fallback, sizeof(fallback), "%s/.run/lib", cdctop_test_repository_root());
        snprintf(probe, sizeof(probe), "%s/librdkafka.so.1", fallback);
        if (access(probe, R_OK) != 0) {
            fprintf(stderr, "test support: no librdkafka 2.16 in %s; the Kafka tests need it: run scripts/deps\n", fallback);
            return;
        }
        setenv("CDCTOP_RDKAFKA_216", fallback, 1);
        library = fallback;
    }
    const char *current = getenv("LD_LIBRARY_PATH");
    if (current != NULL && list_contains(current, library)) return;
    // Once only: a second pass with the variable set but not taking effect must not loop.
    if (getenv("CDCTOP_TEST_REEXECUTED") != NULL) return;
    char path[PATH_MAX * 2];
    snprintf(path, sizeof(path), "%s%s%s", library, current && current[0] ? ":" : "", current ? current : "");
    setenv("LD_LIBRARY_PATH", path, 1);
    setenv("CDCTOP_TEST_REEXECUTED", "1", 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "test support: could not re-run the tests with LD_LIBRARY_PATH=%s; set it yourself (source .run/env)\n", path);
}
