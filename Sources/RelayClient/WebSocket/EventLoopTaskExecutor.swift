import NIOCore

/// Runs a connection's tasks on its channel's event loop. A frame that arrives then reaches the
/// reader, and the relay core (a default actor, which follows the task's executor preference),
/// on the thread that read it, instead of waking a second thread per frame.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
