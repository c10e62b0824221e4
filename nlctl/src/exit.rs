//! Exit status codes of `nlctl`: the one place they are defined.

/// An exit status of `nlctl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// 0: success.
    Ok = 0,
    /// 1: any other failure: I/O error, an unexpected or undecodable reply,
    /// a network namespace that cannot be opened, replies lost to receive
    /// buffer overruns in `bench`.
    Failure = 1,
    /// 2: usage error: bad arguments (clap's own), a message longer than
    /// `GENL_ECHO_MSG_MAX` bytes or containing a NUL byte. Nothing was sent.
    Usage = 2,
    /// 3: the `genl_echo` family is not registered (module not loaded).
    NotLoaded = 3,
    /// 4: permission denied (e.g. `set-mode` without CAP_NET_ADMIN).
    PermissionDenied = 4,
    /// 5: the kernel rejected the request; the message gives the kernel's
    /// extended ACK text and the errno name.
    Rejected = 5,
}

impl Exit {
    /// Every status, in numeric order.
    pub const ALL: [Exit; 6] = [
        Exit::Ok,
        Exit::Failure,
        Exit::Usage,
        Exit::NotLoaded,
        Exit::PermissionDenied,
        Exit::Rejected,
    ];

    /// The numeric status.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// One-line description, used in `--help`, the man page and the docs.
    pub const fn description(self) -> &'static str {
        match self {
            Exit::Ok => "success",
            Exit::Failure => {
                "other failure: I/O error, unexpected or undecodable reply, \
                 network namespace that cannot be opened, replies lost in bench"
            }
            Exit::Usage => {
                "usage error: bad arguments, message longer than 65530 bytes or \
                 containing a NUL byte (nothing is sent)"
            }
            Exit::NotLoaded => {
                "the genl_echo family is not loaded \
                 (modprobe genl_echo, or insmod genl-kmod/genl_echo.ko)"
            }
            Exit::PermissionDenied => "permission denied (set-mode needs CAP_NET_ADMIN)",
            Exit::Rejected => {
                "the kernel rejected the request (message has its extended ACK text and errno name)"
            }
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// The EXIT STATUS text shown at the end of `nlctl --help`.
pub fn exit_status_help() -> String {
    let mut s = String::from("EXIT STATUS:\n");
    for e in Exit::ALL {
        s.push_str(&format!("  {}  {}\n", e.code(), e.description()));
    }
    s
}
