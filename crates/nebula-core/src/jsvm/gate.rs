//! The deadline of the running slice, shared by the runtime's interrupt
//! handler and its allocator.
//!
//! QuickJS polls the interrupt handler only once every 10 000 branches or
//! calls, so a loop whose body is a long native call (`new Uint8Array(32 MiB)
//! .fill(1)`, `"x".repeat(n)`, a big `JSON.stringify`) runs for minutes past
//! its deadline between two polls. Such a call allocates its result first:
//! past the deadline the allocator refuses every large allocation, the call
//! throws "out of memory" at once, the loop reaches the next poll within
//! milliseconds, and the slice ends. Small allocations are never refused, so
//! that QuickJS can still build the error it throws (an error it could not
//! build would become a catchable `null`, and a `catch` could loop on it).
//! Long native calls that allocate nothing (`typedArray.fill()` on an
//! existing array) are wrapped by the prelude, which asks [`Gate::late`]
//! first and throws past the deadline.
use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use rquickjs::allocator::Allocator;

/// Allocations from this size up are refused past the deadline: far above
/// QuickJS's arenas (4 KiB) and the error objects it throws.
pub const LARGE: usize = 64 << 10;

#[derive(Default)]
pub struct Gate {
    deadline: Cell<Option<Instant>>,
    /// The interrupt handler stopped the slice.
    fired: Cell<bool>,
    /// Past the deadline, a large allocation was refused or a guarded
    /// native call was refused by the prelude.
    refused: Cell<bool>,
}

impl Gate {
    /// A slice starts; it must end by `deadline`.
    pub fn arm(&self, deadline: Instant) {
        self.fired.set(false);
        self.refused.set(false);
        self.deadline.set(Some(deadline));
    }

    /// Between slices nothing is refused (teardown and rebuilds allocate).
    pub fn disarm(&self) {
        self.deadline.set(None);
    }

    fn past(&self) -> bool {
        matches!(self.deadline.get(), Some(t) if Instant::now() >= t)
    }

    /// The interrupt handler's answer: true stops the script (uncatchable).
    pub fn interrupt(&self) -> bool {
        let past = self.past();
        if past {
            self.fired.set(true);
        }
        past
    }

    /// The interrupt handler fired during the last slice.
    pub fn fired(&self) -> bool {
        self.fired.get()
    }

    /// The last slice ran past its deadline inside native calls (an
    /// allocation or a guarded call was refused); whatever it threw is a
    /// timeout.
    pub fn refused(&self) -> bool {
        self.refused.get()
    }

    /// For the prelude's guards around long native calls: true (and the
    /// call is refused) once the slice is past its deadline.
    pub fn late(&self) -> bool {
        let past = self.past();
        if past {
            self.refused.set(true);
        }
        past
    }

    fn refuses(&self, size: usize) -> bool {
        if size >= LARGE && self.past() {
            self.refused.set(true);
            return true;
        }
        false
    }
}

/// The C allocator QuickJS uses by default (it checks the memory limit
/// before it gets here), with the gate in front.
pub struct GatedAlloc {
    gate: Rc<Gate>,
}

impl GatedAlloc {
    pub fn new(gate: Rc<Gate>) -> GatedAlloc {
        GatedAlloc { gate }
    }
}

// SAFETY: every pointer comes from the C allocator and goes back to it; a
// refusal is a null pointer, which QuickJS handles as out of memory.
unsafe impl Allocator for GatedAlloc {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if self.gate.refuses(size) {
            return std::ptr::null_mut();
        }
        unsafe { libc::malloc(size).cast() }
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return std::ptr::null_mut();
        };
        if self.gate.refuses(total) {
            return std::ptr::null_mut();
        }
        unsafe { libc::calloc(count, size).cast() }
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        libc::free(ptr.cast())
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        // Only growth is refused: a shrink never fails.
        if new_size > Self::usable_size(ptr) && self.gate.refuses(new_size) {
            return std::ptr::null_mut();
        }
        libc::realloc(ptr.cast(), new_size).cast()
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        if ptr.is_null() {
            return 0;
        }
        #[cfg(target_vendor = "apple")]
        return libc::malloc_size(ptr.cast_const().cast());
        #[cfg(not(target_vendor = "apple"))]
        return libc::malloc_usable_size(ptr.cast());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn large_allocations_are_refused_only_past_the_deadline() {
        let gate = Rc::new(Gate::default());
        let mut a = GatedAlloc::new(gate.clone());
        let free = |a: &mut GatedAlloc, p: *mut u8| {
            assert!(!p.is_null());
            unsafe { a.dealloc(p) }
        };
        // Unarmed: anything goes.
        let p = a.alloc(1 << 20);
        free(&mut a, p);
        gate.arm(Instant::now() + Duration::from_secs(60));
        let p = a.calloc(1 << 10, 1 << 10);
        free(&mut a, p);
        assert!(!gate.refused());
        gate.arm(Instant::now());
        assert!(a.alloc(LARGE).is_null());
        assert!(a.calloc(LARGE, 1).is_null());
        assert!(a.calloc(usize::MAX, 2).is_null());
        assert!(gate.refused());
        // Small allocations still work, and so does a shrink.
        let p = a.alloc(256);
        free(&mut a, p);
        gate.disarm();
        let big = a.alloc(LARGE * 2);
        gate.arm(Instant::now());
        let shrunk = unsafe { a.realloc(big, 128) };
        assert!(unsafe { a.realloc(shrunk, LARGE * 4) }.is_null());
        free(&mut a, shrunk);
        assert!(gate.interrupt() && gate.fired());
        gate.arm(Instant::now() + Duration::from_secs(60));
        assert!(!gate.refused() && !gate.fired() && !gate.interrupt());
    }
}
