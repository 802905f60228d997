#include "test_keys.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <stdexcept>

namespace day2::test {

namespace {
std::string drain(BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    std::string s(data, static_cast<size_t>(n));
    BIO_free(b);
    return s;
}
} // namespace

TestKey generateKey(const std::string& type, const std::string& param) {
    EVP_PKEY* key = type == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA",
                                                      static_cast<size_t>(std::stoul(param)))
                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param.c_str());
    if (!key)
        throw std::runtime_error("cannot generate a " + type + " " + param + " key");
    TestKey k;
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    k.privatePem = drain(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, key);
    k.publicPem = drain(b);
    EVP_PKEY_free(key);
    return k;
}

void writeTextFile(const std::string& path, const std::string& content) {
    std::ofstream out(path, std::ios::trunc);
    if (!(out << content))
        throw std::runtime_error("cannot write " + path);
}

} // namespace day2::test
