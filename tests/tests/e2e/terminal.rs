//! What happens on a real terminal: the CLI runs on a pseudo-terminal that is its controlling
//! terminal, so typed keys, prompts and Ctrl-C behave as for a user.
#![cfg(unix)]

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use insforge_tests::kit::TestEnv;

struct Pty {
    master: std::fs::File,
    slave: OwnedFd,
}

fn open_pty() -> Pty {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty fills both descriptors on success; we own them afterwards.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: fresh descriptors from openpty, owned by nothing else.
    unsafe {
        Pty {
            master: std::fs::File::from_raw_fd(master),
            slave: OwnedFd::from_raw_fd(slave),
        }
    }
}

fn echo_is_on(fd: &OwnedFd) -> bool {
    use std::os::fd::AsRawFd;
    let mut state = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr fills the termios when it returns 0.
    let rc = unsafe { libc::tcgetattr(fd.as_raw_fd(), state.as_mut_ptr()) };
    assert_eq!(rc, 0);
    // SAFETY: initialised above.
    let state = unsafe { state.assume_init() };
    state.c_lflag & libc::ECHO != 0
}

/// Reads the terminal's output until `needle` appears (30 s at most).
fn wait_for(output: &mpsc::Receiver<u8>, seen: &mut String, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match output.recv_timeout(left) {
            Ok(byte) => seen.push(char::from(byte)),
            Err(_) => panic!("the terminal never showed {needle:?}; it showed:\n{seen}"),
        }
    }
}

#[test]
fn ctrl_c_at_the_hidden_password_prompt_leaves_echo_on_and_exits_130() {
    let t = TestEnv::with_platform();
    let pty = open_pty();
    let mut cmd = t.command(t.cwd(), &["login", "--email"]);
    cmd.stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave.try_clone().unwrap()))
        .env("TERM", "xterm");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // A session of its own with the terminal as its controlling terminal, so Ctrl-C
            // typed on it is a SIGINT for the CLI.
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("insforge starts");

    let mut reader = pty.master.try_clone().unwrap();
    let (tx, output) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                if tx.send(b).is_err() {
                    return;
                }
            }
        }
    });
    let mut master = pty.master;
    let mut seen = String::new();
    wait_for(&output, &mut seen, "Email");
    master.write_all(b"ada@example.com\r").unwrap();
    wait_for(&output, &mut seen, "Password");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !echo_is_on(&pty.slave),
        "the password prompt hides what is typed"
    );
    master.write_all(&[3]).unwrap(); // Ctrl-C

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("insforge did not stop on Ctrl-C; the terminal showed:\n{seen}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "killed by {:?}", status.signal());
    wait_for(&output, &mut seen, "error: interrupted");
    assert!(echo_is_on(&pty.slave), "echo must be back on after Ctrl-C");
    assert!(!t.credentials_path().exists());
    assert!(t.sandbox().requests().is_empty(), "nothing may be sent");
}
