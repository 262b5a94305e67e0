//! A spawned task tied to its owner's lifetime. Actor state is dropped when an actor is killed or
//! fails (without `post_stop`), so a socket task held in an [`AbortOnDrop`] is cancelled — and its
//! socket closed — however the actor ends. Without this, a killed actor's I/O would linger.

use tokio::task::JoinHandle;

pub struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    pub fn spawn<F>(fut: F) -> Self
    where
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        AbortOnDrop(tokio::spawn(fut))
    }

    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
