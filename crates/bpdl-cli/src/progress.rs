//! Progress bars and spinners on stderr, drawn only when stdout is a terminal (a leaf: it uses
//! nothing else of the binary).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn hidden_unless_terminal(bar: ProgressBar) -> ProgressBar {
    if !std::io::stdout().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// A progress bar of `len` steps, drawn on stderr only when stdout is a terminal.
pub fn progress(len: u64, template: &str) -> ProgressBar {
    let bar = hidden_unless_terminal(ProgressBar::new(len));
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// An indeterminate spinner with a message (hidden when stdout is not a terminal).
pub fn spinner(message: &str) -> ProgressBar {
    let bar = hidden_unless_terminal(ProgressBar::new_spinner());
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}
