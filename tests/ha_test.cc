// Replicated PostgreSQL under ledgerd (issue 18; docs/operations.md "Replicated PostgreSQL"):
// ./scripts/ha starts three etcd members, three PostgreSQL nodes under Patroni (strict synchronous
// replication) and two ledgerd on a multi-host URL. Under REST and ISO 8583 load this test makes a
// switchover, then kills the primary's machine (kill -9 of its Patroni and of every
// PostgreSQL process), and checks that:
// - ledgerd approves again within 10 s of the new primary's promotion, both times;
// - with both standbys lost at once, nothing is acknowledged (strict synchronous mode) until
//   one is back;
// - nothing acknowledged is lost: every transfer and approval journaled with its answer, one
//   row per id however often it was sent, nothing held for a 91, debits = credits.
// Needs root (PostgreSQL and Patroni run as the postgres user) and the Debian packages
// patroni, etcd-server and etcd-client (scripts/setup installs them).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "support/failover_load.h"
#include "support/http_client.h"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;
constexpr long long answering_again_limit_ms = 10'000;

// ./scripts/ha as a child process, stopped with SIGTERM (its own clean stop) at the end.
class HaSet {
 public:
  ~HaSet() { stop(); }
  bool start(const std::string& dir) {
    info_path_ = dir + "/info";
    log_path_ = dir + "/ha.log";
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);
      const std::string script = std::string(LEDGER_SOURCE_DIR) + "/scripts/ha";
      if (!freopen(log_path_.c_str(), "w", stdout) || dup2(fileno(stdout), 2) < 0) _exit(127);
      setenv("HA_INFO", info_path_.c_str(), 1);
      setenv("HA_LEDGERD", "2", 1);
      execl("/bin/bash", "bash", script.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = Clock::now() + std::chrono::seconds(300);
    while (Clock::now() < deadline) {
      if (std::ifstream in(info_path_); in) {
        std::string line;
        while (std::getline(in, line)) {
          const auto eq = line.find('=');
          if (eq == std::string::npos) continue;
          std::string value = line.substr(eq + 1);
          if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
            value = value.substr(1, value.size() - 2);
          }
          info_[line.substr(0, eq)] = value;
        }
        if (info_.count("HA_LEDGERD2_ISO") != 0) return true;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 900; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(-pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  std::string get(const std::string& key) const {
    const auto found = info_.find(key);
    return found == info_.end() ? "" : found->second;
  }
  int port(const std::string& key) const { return std::atoi(get(key).c_str()); }
  std::string log() const {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  pid_t pid_ = -1;
  std::string info_path_;
  std::string log_path_;
  std::map<std::string, std::string> info_;
};

int status_of(int port, const std::string& path) {
  return testing::http_call(port, "GET", path, "", {}, 2'000).status;
}

// Polls until `check` holds; false after limit_ms.
template <typename Check>
bool wait_until(Check check, int limit_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(limit_ms);
  while (Clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(HaTest, SwitchoverAndLossOfThePrimaryUnderLoadLoseNothingAcknowledged) {
  if (geteuid() != 0) GTEST_SKIP() << "scripts/ha runs PostgreSQL as the postgres user: root only";
  char dir_template[] = "/tmp/ledgerd-ha-test.XXXXXX";
  const char* dir = mkdtemp(dir_template);
  ASSERT_NE(dir, nullptr);
  HaSet ha;
  ASSERT_TRUE(ha.start(dir)) << ha.log();
  constexpr int node_count = 3;
  const int api[node_count] = {ha.port("HA_API1"), ha.port("HA_API2"), ha.port("HA_API3")};
  const std::string nodes[node_count] = {"pg1", "pg2", "pg3"};
  const std::string url = ha.get("HA_DATABASE_URL");
  const testing::FailoverLoad::Target targets[2] = {
      {ha.port("HA_LEDGERD1_HTTP"), ha.port("HA_LEDGERD1_ISO")},
      {ha.port("HA_LEDGERD2_HTTP"), ha.port("HA_LEDGERD2_ISO")}};
  // One of the two ledgerd takes the lease and serves.
  int serving = -1;
  ASSERT_TRUE(wait_until(
      [&] {
        for (int i = 0; i < 2; ++i) {
          if (status_of(targets[i].http, "/ready") == 200) serving = i;
        }
        return serving >= 0;
      },
      60'000))
      << ha.log();
  testing::FailoverLoad load(ha.get("HA_API_KEY"));
  load.create_ledger(targets[serving].http);
  load.set_targets({targets[serving], targets[1 - serving]});
  load.start();

  const auto primary = [&] {
    for (int i = 0; i < node_count; ++i) {
      if (status_of(api[i], "/primary") == 200) return i;
    }
    return -1;
  };
  const auto sync_standby = [&] {  // the node Patroni would promote
    for (int i = 0; i < node_count; ++i) {
      if (status_of(api[i], "/sync") == 200) return i;
    }
    return -1;
  };
  const auto promoted = [&](int node) { return status_of(api[node], "/primary") == 200; };

  // 1. Switchover: Patroni hands the primary to the synchronous standby.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  int old_primary = primary();
  ASSERT_GE(old_primary, 0);
  int candidate = -1;
  ASSERT_TRUE(wait_until([&] { return (candidate = sync_standby()) >= 0; }, 60'000));
  const std::string switchover = ha.get("HA_PATRONICTL") + " switchover --leader " +
                                 nodes[old_primary] + " --candidate " + nodes[candidate] +
                                 " --force >/dev/null 2>&1";
  ASSERT_EQ(std::system(switchover.c_str()), 0) << switchover;
  ASSERT_TRUE(wait_until([&] { return promoted(candidate); }, 60'000));
  const auto switched = Clock::now();
  const long long after_switchover = load.first_approval_ms(switched, 60'000);
  std::printf("ha: switchover %s -> %s: first approval %lld ms after the promotion\n",
              nodes[old_primary].c_str(), nodes[candidate].c_str(), after_switchover);
  EXPECT_GE(after_switchover, 0);
  EXPECT_LE(after_switchover, answering_again_limit_ms);

  // 2. The new primary's machine is lost, once it has a synchronous standby again.
  ASSERT_TRUE(wait_until([&] { return (old_primary = sync_standby()) >= 0; }, 90'000))
      << "no synchronous standby after the switchover";
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const int lost = candidate;
  candidate = sync_standby();
  ASSERT_GE(candidate, 0);
  const std::string work = ha.get("HA_WORK");
  const std::string kill_machine = "pkill -KILL -f '^/usr/bin/python3 /usr/bin/patroni " + work +
                                   "/" + nodes[lost] + ".yml'; pm=$(head -1 " + work + "/" +
                                   nodes[lost] +
                                   "/postmaster.pid); kill -KILL $(pgrep -P \"$pm\") \"$pm\"";
  const auto killed = Clock::now();
  std::system(kill_machine.c_str());  // /bin/sh -c
  ASSERT_TRUE(wait_until([&] { return promoted(candidate); }, 90'000));
  const auto promotion = Clock::now();
  const long long after_loss = load.first_approval_ms(promotion, 60'000);
  std::printf(
      "ha: kill -9 of %s's Patroni and PostgreSQL: %s promoted %lld ms after, first "
      "approval %lld ms after the promotion\n",
      nodes[lost].c_str(), nodes[candidate].c_str(),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(promotion - killed).count()),
      after_loss);
  EXPECT_GE(after_loss, 0);
  EXPECT_LE(after_loss, answering_again_limit_ms);

  // 3. Two machines lost at once, once the third node is back: both standbys. Strict
  // synchronous mode: the primary acknowledges nothing it could only keep on one copy, so
  // nothing is acknowledged until a standby is back (their supervisors restart them after
  // 20 s), then writes resume.
  const auto healthy = [&] {
    int up = 0;
    for (int i = 0; i < node_count; ++i) up += status_of(api[i], "/health") == 200 ? 1 : 0;
    return up == node_count && sync_standby() >= 0;
  };
  ASSERT_TRUE(wait_until(healthy, 120'000)) << "the lost node did not come back";
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const int leader = primary();
  ASSERT_GE(leader, 0);
  for (int i = 0; i < node_count; ++i) {
    if (i == leader) continue;
    const std::string kill_node = "pkill -KILL -f '^/usr/bin/python3 /usr/bin/patroni " + work +
                                  "/" + nodes[i] + ".yml'; pm=$(head -1 " + work + "/" + nodes[i] +
                                  "/postmaster.pid); kill -KILL $(pgrep -P \"$pm\") \"$pm\"";
    std::system(kill_node.c_str());
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));  // what was in flight settles
  const long long before_wait = load.acknowledged();
  std::this_thread::sleep_for(std::chrono::seconds(8));
  const long long during = load.acknowledged() - before_wait;
  std::printf("ha: both standbys lost: %lld writes acknowledged in the 8 s after\n", during);
  EXPECT_EQ(during, 0) << "strict synchronous mode acknowledged writes with one copy";
  const long long after_double_loss = load.first_approval_ms(Clock::now(), 120'000);
  std::printf("ha: writes resumed %lld ms later (a standby back)\n", after_double_loss);
  EXPECT_GE(after_double_loss, 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  load.stop();

  serving = -1;
  ASSERT_TRUE(wait_until(
      [&] {
        for (int i = 0; i < 2; ++i) {
          if (status_of(targets[i].http, "/ready") == 200) serving = i;
        }
        return serving >= 0;
      },
      30'000));
  EXPECT_GT(load.transfers(), 50u);
  EXPECT_GT(load.authorizations(), 50u);
  load.verify(url, targets[serving].http);
  ha.stop();
  std::system(("rm -rf " + std::string(dir)).c_str());
}

}  // namespace
}  // namespace ledger
