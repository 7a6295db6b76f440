//! `--nice`: lowest CPU priority (nice 19) and the idle I/O class, so an
//! hourly scan on a busy controller only uses what nobody else wants.
//! Linux keeps both per thread and a new thread inherits them, so this
//! runs on the main thread before the scan starts its workers.

/// Lowers this thread's (and its future threads') CPU and I/O priority.
pub fn lower_priority() -> Result<(), String> {
    rustix::process::setpriority_process(None, 19)
        .map_err(|e| format!("--nice: setpriority(19): {e}"))?;
    ioprio::set_priority(
        ioprio::Target::Process(ioprio::Pid::from_raw(0)),
        ioprio::Priority::new(ioprio::Class::Idle),
    )
    .map_err(|e| format!("--nice: ioprio_set(idle): {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lowers_cpu_and_io_priority_of_new_threads() {
        // In a thread of its own, so the test runner's threads keep theirs.
        std::thread::spawn(|| {
            super::lower_priority().expect("lower priority");
            let child = std::thread::spawn(|| {
                let nice = rustix::process::getpriority_process(None).expect("getpriority");
                let io = ioprio::get_priority(ioprio::Target::Process(ioprio::Pid::from_raw(0)))
                    .expect("ioprio_get");
                (nice, io.class())
            });
            let (nice, class) = child.join().expect("child thread");
            assert_eq!(nice, 19);
            assert_eq!(class, Some(ioprio::Class::Idle));
        })
        .join()
        .expect("test thread");
    }
}
