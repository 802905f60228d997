// A thread with one QObject living in it: the context for objects created, used and destroyed in
// that thread (the feeds' followers, with their sockets and timers). The destructor runs the
// `finish` work in the thread (destroying what lives there), then stops the thread.
#pragma once

#include <QObject>
#include <QString>
#include <QThread>

#include <functional>

namespace day2::client {

class WorkerThread {
public:
    explicit WorkerThread(QString name) : m_name(std::move(name)) {}
    ~WorkerThread() {
        if (!m_context)
            return;
        QMetaObject::invokeMethod(
            m_context,
            [this] {
                if (m_finish)
                    m_finish();
            },
            Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
        delete m_context;
    }
    WorkerThread(const WorkerThread&) = delete;
    WorkerThread& operator=(const WorkerThread&) = delete;

    // Starts the thread and runs `begin` in it; `finish` runs there at the end. Once only.
    void start(std::function<void()> begin, std::function<void()> finish) {
        if (m_context)
            return;
        m_finish = std::move(finish);
        m_context = new QObject;
        m_context->moveToThread(&m_thread);
        m_thread.setObjectName(m_name);
        m_thread.start();
        QMetaObject::invokeMethod(m_context, std::move(begin), Qt::QueuedConnection);
    }
    // Lives in the thread: a receiver for connections whose slots must run there.
    QObject* context() const { return m_context; }
    bool started() const { return m_context != nullptr; }

private:
    QString m_name;
    QThread m_thread;
    QObject* m_context = nullptr;
    std::function<void()> m_finish;
};

} // namespace day2::client
