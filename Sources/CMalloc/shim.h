// glibc's malloc statistics (mallinfo2): `cdctop bench` reports the bytes the state holds.
#include <malloc.h>
