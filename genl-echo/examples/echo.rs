//! Echoes its arguments through the genl_echo module and prints the reply:
//!
//! ```sh
//! cargo run -p genl-echo --example echo -- Hello World
//! # Hello World (mode none)
//! ```

use genl_echo::{Client, Error};

fn main() -> Result<(), Error> {
    let msg = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let mut client = Client::connect()?;
    let reply = client.echo(msg.as_bytes())?;
    println!(
        "{} (mode {})",
        String::from_utf8_lossy(&reply.msg),
        reply.mode
    );
    Ok(())
}
