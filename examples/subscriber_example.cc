// Subscribes to one cluster and prints a few weighted round-robin picks.
//
//   jcm-subscriber-example <server host:port>[,<server>...] <cluster> [picks]
#include <jcm/subscriber.h>

#include <cstdio>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s host:port[,host:port...] cluster [picks]\n", argv[0]);
    return 2;
  }
  jcm::SubscriberOptions options;
  std::stringstream servers(argv[1]);
  for (std::string s; std::getline(servers, s, ',');) options.servers.push_back(s);
  options.clusters = {argv[2]};
  options.tag = "jcm-subscriber-example";
  options.connect_timeout = std::chrono::milliseconds(300);
  const int picks = argc > 3 ? std::stoi(argv[3]) : 5;

  auto created = jcm::Subscriber::Create(options);
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", created.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<jcm::Subscriber> subscriber = std::move(created).value();
  jcm::Status started = subscriber->Start();
  std::printf("start: %s\n", started.ToString().c_str());

  jcm::Allocator allocator = subscriber->NewAllocator(argv[2], jcm::Policy::kWeightedRoundRobin);
  for (int i = 1; i <= picks; ++i) {
    jcm::Pick pick = allocator.Pick(jcm::Protocol::kHttp);
    if (!pick) {
      std::printf("pick %d: none\n", i);
    } else {
      std::printf("pick %d: %s%s\n", i, pick.endpoint().ToString().c_str(),
                  pick.panic() ? " (panic)" : "");
    }
  }
  return 0;
}
