//! Fuzzes the lexer, parser and validator on arbitrary EPP templates: no input may panic, and
//! every diagnostic must point inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let parsed = troupe_syntax::parse_epp("fuzz.epp", text);
        for d in &parsed.diagnostics {
            if let Some(off) = d.offset {
                assert!(off as usize <= text.len(), "diagnostic offset out of range");
            }
            let _ = d.render(&parsed.source);
        }
    }
});
