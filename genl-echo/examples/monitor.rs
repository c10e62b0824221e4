//! Prints genl_echo's mode change events, one line each, until COUNT
//! events (the first argument) have been seen, or forever:
//!
//! ```sh
//! cargo run -p genl-echo --example monitor -- 2
//! # mode none -> upper
//! # mode upper -> lower
//! ```

use genl_echo::{Client, Error, Event};

fn main() -> Result<(), Error> {
    let count: Option<usize> = std::env::args().nth(1).and_then(|a| a.parse().ok());
    let client = Client::connect()?;
    let events = client.subscribe()?;
    for (seen, item) in events.enumerate() {
        match item? {
            Event::ModeChanged(e) => println!("mode {} -> {}", e.previous, e.mode),
            Event::Overrun => println!("overrun: events were lost"),
            Event::FamilyRemoved => println!("family removed (module unloaded)"),
            Event::FamilyAdded { id, version } => {
                println!("family back: id {id}, version {version}")
            }
            _ => println!("unknown event"),
        }
        if count.is_some_and(|c| seen + 1 >= c) {
            break;
        }
    }
    Ok(())
}
