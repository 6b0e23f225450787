//! How the process allocates memory.

/// glibc's malloc gives threads arenas of their own, up to eight per core, and keeps what a
/// thread frees for its arena's later use. An execution allocates on its evaluation threads and
/// frees on its writer thread, so free memory piles up in arenas that seldom allocate again:
/// the server ran the 10-million-row walkthrough in 277 MiB at most with glibc's default, and
/// in 151 MiB with one arena per core, at the same speed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn one_arena_per_core() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cores = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: `mallopt` only changes a setting of the allocator; it is called first thing in
    // `main`, before any other thread exists. Should it fail, the default stays.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, cores);
    }
}

/// Other allocators need nothing.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn one_arena_per_core() {}
