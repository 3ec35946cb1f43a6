//! What rpcsh does when a signal ends it: the exit code each signal maps to (128 + its number,
//! as shells report a process it killed), and the terminal left as it was found. The policy per
//! command is in the README ("Signals").

/// Resolves with the exit code of the first of SIGTERM, SIGHUP and (with `sigint`) SIGINT to
/// arrive: 143, 129, 130. Never resolves where signals cannot be listened to.
pub async fn interrupted(sigint: bool) -> u8 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return std::future::pending().await;
        };
        let ctrl_c = async {
            match sigint {
                true => tokio::signal::ctrl_c().await,
                false => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => 143,
            _ = hup.recv() => 129,
            Ok(()) = ctrl_c => 130,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = sigint;
        let _ = tokio::signal::ctrl_c().await;
        130
    }
}

/// The terminal's settings when the shell started, put back when a signal ends it: the line
/// editor may hold it in raw mode at that moment, and a parent that does not reset it (a
/// script, an editor's terminal) would be left without echo.
pub struct Terminal {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl Terminal {
    /// Saves stdin's terminal settings, when stdin is a terminal.
    pub fn save() -> Terminal {
        #[cfg(unix)]
        {
            let mut saved = std::mem::MaybeUninit::<libc::termios>::uninit();
            // SAFETY: tcgetattr writes a termios into `saved` or fails; it is read only after
            // it succeeded.
            let ok = unsafe { libc::tcgetattr(libc::STDIN_FILENO, saved.as_mut_ptr()) } == 0;
            Terminal {
                saved: ok.then(|| unsafe { saved.assume_init() }),
            }
        }
        #[cfg(not(unix))]
        Terminal {}
    }

    /// Puts the saved settings back, and leaves the cursor on a line of its own.
    pub fn restore(&self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            // SAFETY: `saved` is a termios tcgetattr filled for this same descriptor.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved) };
        }
        eprintln!();
    }
}
