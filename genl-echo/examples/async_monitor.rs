//! Follows genl_echo's events with an [`AsyncSubscription`], one line per
//! item, until COUNT items (the first argument) have been seen, or forever;
//! across module reloads too:
//!
//! ```sh
//! cargo run -p genl-echo --features tokio --example async_monitor -- 4
//! # port 1234567
//! # mode none -> upper
//! # family removed
//! # family added: id 34, version 1
//! # mode none -> lower
//! ```
//!
//! The first line is the subscription's port id. Exits with status 1
//! (after a line on standard error) if connecting or subscribing fails.

use std::process::ExitCode;

use genl_echo::{AsyncClient, Error, Event};
use tokio_stream_shim::next;

/// `StreamExt::next` without a dependency: the next item of a `Stream`.
mod tokio_stream_shim {
    use std::future::poll_fn;
    use std::pin::Pin;

    use futures_core::Stream;

    pub async fn next<S: Stream + Unpin>(s: &mut S) -> Option<S::Item> {
        poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
    }
}

async fn run(count: Option<usize>) -> Result<(), Error> {
    let client = AsyncClient::connect().await?;
    let mut events = client.subscribe().await?;
    println!("port {}", events.port_id());
    let mut seen = 0;
    while count.is_none_or(|c| seen < c) {
        let Some(item) = next(&mut events).await else {
            break;
        };
        match item {
            Ok(Event::ModeChanged(e)) => println!("mode {} -> {}", e.previous, e.mode),
            Ok(Event::Overrun) => println!("overrun: events were lost"),
            Ok(Event::FamilyRemoved) => println!("family removed"),
            Ok(Event::FamilyAdded { id, version }) => {
                println!("family added: id {id}, version {version}")
            }
            Ok(e) => println!("{e:?}"),
            Err(e) => println!("error: {e}"),
        }
        seen += 1;
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let count = std::env::args().nth(1).and_then(|a| a.parse().ok());
    match run(count).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("async_monitor: {e}");
            ExitCode::FAILURE
        }
    }
}
