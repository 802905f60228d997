// Requests that go on long after they were authorized (a log stream, an exec session) hold their
// grant here. When the keys and the ACL are reloaded (SIGHUP), every held grant is checked again
// as if the request came now: its token against the keys, its action on its resource against the
// ACL. One that is no longer allowed is ended, with the reason, and the refusal audited.
// Used on the io thread only.
#pragma once

#include "auth/audit_log.h"
#include "auth/authority.h"

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

namespace day2::auth {

class HeldGrants {
    struct Held {
        std::string authorization; // the request's header, to verify the token again
        std::string uid;
        std::string resource;
        std::string action;
        std::string source; // the client's address
        std::string via;    // the proxy it came through, if any
        std::function<void(const std::string& why)> end;
    };

    using List = std::list<Held>;

public:
    // Removes its grant from the registry when it goes (the request has ended). It may outlive
    // the registry (a coroutine frame destroyed with the io_context at exit): then it does
    // nothing.
    class Hold {
    public:
        Hold() = default;
        Hold(std::weak_ptr<List> list, List::iterator it) : m_list(std::move(list)), m_it(it) {}
        Hold(Hold&& o) noexcept : m_list(std::exchange(o.m_list, {})), m_it(o.m_it) {}
        Hold& operator=(Hold&& o) noexcept {
            if (this != &o) {
                release();
                m_list = std::exchange(o.m_list, {});
                m_it = o.m_it;
            }
            return *this;
        }
        Hold(const Hold&) = delete;
        ~Hold() { release(); }

    private:
        void release() {
            if (auto list = m_list.lock())
                list->erase(m_it);
            m_list.reset();
        }

        std::weak_ptr<List> m_list;
        List::iterator m_it;
    };

    // `end` is called (once, at most) with a sentence saying why the request must end now.
    Hold hold(std::string authorization, std::string uid, std::string resource, std::string action,
              std::string source, std::string via, std::function<void(const std::string& why)> end);

    // After a reload: ends every held grant `authority` no longer allows at `nowSeconds`, each
    // audited as "revoked"; returns how many it ended.
    size_t recheck(const Authority& authority, int64_t nowSeconds, AuditLog& audit);

    size_t size() const { return m_held->size(); }

private:
    std::shared_ptr<List> m_held = std::make_shared<List>();
};

} // namespace day2::auth
