// Tagging: classify, an agent's correction, emerging issues and their promotion.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/time_util.h"
#include "classify/review_worth.h"
#include "service/service.h"

namespace debrief::service {

absl::StatusOr<v1::ClassifyResponse> Service::Classify(const v1::ClassifyRequest& req) {
  v1::Ticket t = req.ticket();
  if (!req.text().empty()) t.set_body(req.text());
  if (t.subject().empty() && t.body().empty())
    return absl::InvalidArgumentError("give a ticket or some text to classify");
  v1::ClassifyResponse res;
  *res.mutable_classification() = d_.classifier.Classify(t);
  return res;
}

absl::StatusOr<v1::FeedbackResponse> Service::Feedback(const v1::FeedbackRequest& req) {
  if (auto s = RequireTicketRef(req.ticket()); !s.ok()) return s;
  const v1::Category* cat = d_.policy.category(req.category_id());
  if (cat == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("unknown category \"", req.category_id(), "\""));
  if (cat->retired())
    return absl::FailedPreconditionError(absl::StrCat(
        "category ", cat->id(), " is retired",
        cat->merged_into().empty() ? "" : absl::StrCat(" (merged into ", cat->merged_into(), ")"),
        ": choose one that takes tickets"));
  v1::FeedbackResponse res;
  v1::Ticket ticket;
  int64_t feedback_id = 0;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    auto rec = tx.GetTicket(req.ticket().helpdesk_id(), req.ticket().ticket_id());
    if (!rec.ok()) return rec.status();
    if (!*rec)
      return absl::NotFoundError(
          absl::StrCat("no ticket ", req.ticket().helpdesk_id(), "/", req.ticket().ticket_id()));
    spi::TicketRecord& r = **rec;
    std::string old = r.classification ? r.classification->category_id() : "";
    v1::Classification c;
    c.set_category_id(cat->id());
    c.set_confidence(1.0);
    c.set_model("agent");
    base::SetTimestamp(c.mutable_classified_at(), d_.clock.Now());
    v1::Reason* why = c.add_reasons();
    why->set_feature(absl::StrCat("corrected by ", req.agent().empty() ? "an agent" : req.agent(),
                                  old.empty() ? "" : absl::StrCat(" (was ", old, ")")));
    why->set_weight(1.0);
    r.classification = c;
    r.agent_corrected = true;
    if (auto st = tx.PutTicket(r); !st.ok()) return st;
    auto recorded = tx.RecordFeedback(r.ticket.helpdesk_id(), r.ticket.ticket_id(), old, cat->id(),
                                      req.agent(), d_.clock.Now());
    if (!recorded.ok()) return recorded.status();
    feedback_id = *recorded;
    // A link the policy made for the old category no longer holds; an agent's link stays.
    auto link = tx.GetLink(r.ticket.helpdesk_id(), r.ticket.ticket_id());
    if (!link.ok()) return link.status();
    if (*link && (*link)->origin() == v1::LINK_POLICY && old != cat->id()) {
      if (auto st = d_.policy.Unlink(tx, r.ticket.helpdesk_id(), r.ticket.ticket_id()); !st.ok())
        return st;
    }
    if (auto st = d_.policy.Apply(tx, r.ticket, c); !st.ok()) return st;
    *res.mutable_classification() = c;
    ticket = r.ticket;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> l(review_mu_);
    ++review_generation_;  // the answered ticket leaves the review queue now
  }
  d_.outbox_changed();
  d_.emerging.Remove(ticket.helpdesk_id(), ticket.ticket_id());
  absl::Status learned =
      d_.learn ? d_.learn(feedback_id, ticket, cat->id()) : d_.classifier.Learn(ticket, cat->id());
  if (!learned.ok()) return learned;
  return res;
}

absl::StatusOr<v1::ListCategoriesResponse> Service::ListCategories(
    const v1::ListCategoriesRequest&) {
  v1::ListCategoriesResponse res;
  std::string all;
  for (v1::Category& c : d_.policy.Categories()) {
    all += c.SerializeAsString();
    *res.add_categories() = std::move(c);
  }
  res.set_review_threshold(d_.config.taxonomy().review_threshold());
  // A digest of the categories (FNV-1a, the same in every process): it changes when they do,
  // with a promotion or a new taxonomy.
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : all) h = (h ^ c) * 1099511628211ULL;
  res.set_taxonomy_version(absl::StrCat(absl::Hex(h >> 16, absl::kZeroPad12)));
  return res;
}

absl::StatusOr<v1::ListEmergingResponse> Service::ListEmerging(const v1::ListEmergingRequest& req) {
  v1::ListEmergingResponse res;
  for (auto& e : d_.emerging.List(req.min_size() > 0 ? req.min_size() : 2))
    *res.add_issues() = std::move(e);
  return res;
}

absl::StatusOr<v1::ListReviewResponse> Service::ListReview(const v1::ListReviewRequest& req) {
  const int limit = req.limit() > 0 ? std::min(req.limit(), 1000) : 50;
  const int days = req.days() > 0 ? std::min(req.days(), 3650) : 30;
  const std::string order = req.order().empty() ? "worth" : req.order();
  if (order != "worth" && order != "newest")
    return absl::InvalidArgumentError(
        absl::StrCat("order \"", order, "\" is neither \"worth\" nor \"newest\""));
  const absl::Time now = d_.clock.Now(), from = now - absl::Hours(24 * days);
  constexpr int kMost = 1000;  // what the answer holds, cut to `limit` when given
  constexpr absl::Duration kFresh = absl::Seconds(5);
  const std::string key = absl::StrCat(req.helpdesk_id(), "\n", days, "\n", order);
  auto cut = [&](v1::ListReviewResponse res) {
    while (res.tickets_size() > limit) res.mutable_tickets()->RemoveLast();
    return res;
  };
  uint64_t generation;
  {
    std::lock_guard<std::mutex> l(review_mu_);
    generation = review_generation_;
    auto it = review_answers_.find(key);
    if (it != review_answers_.end() && it->second.generation == generation &&
        now - it->second.at < kFresh && now >= it->second.at)
      return cut(it->second.all);
  }
  std::vector<spi::TicketRecord> recs;
  std::map<std::string, int64_t> cause_size;  // best guess -> its tickets in the same days
  absl::Status s = d_.store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    // Oldest first from the store, at most 10,000 (a backlog past that shows its oldest).
    auto r = tx.NeedsReviewTickets(from, 10000);
    if (!r.ok()) return r.status();
    recs = std::move(*r);
    for (const auto& rec : recs) {
      if (!req.helpdesk_id().empty() && rec.ticket.helpdesk_id() != req.helpdesk_id()) continue;
      if (!rec.classification || rec.classification->category_id().empty()) continue;
      const std::string& cat = rec.classification->category_id();
      if (cause_size.count(cat)) continue;
      auto n = tx.CountTickets(cat, from, now + absl::Seconds(1));
      if (!n.ok()) return n.status();
      cause_size[cat] = *n;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  v1::ListReviewResponse res;
  for (auto it = recs.rbegin(); it != recs.rend(); ++it) {
    if (!req.helpdesk_id().empty() && it->ticket.helpdesk_id() != req.helpdesk_id()) continue;
    v1::ReviewItem* item = res.add_tickets();
    item->mutable_ticket()->set_helpdesk_id(it->ticket.helpdesk_id());
    item->mutable_ticket()->set_ticket_id(it->ticket.ticket_id());
    item->set_subject(it->ticket.subject());
    item->set_url(it->ticket.url());
    if (it->classification) {
      *item->mutable_classification() = *it->classification;
      auto size = cause_size.find(it->classification->category_id());
      item->set_cause_size(size == cause_size.end() ? 0 : size->second);
    }
    item->set_worth(classify::ReviewWorth(item->classification()));
    base::SetTimestamp(item->mutable_first_seen(), it->first_seen);
    if (order == "newest" && res.tickets_size() >= kMost) break;
  }
  if (order == "worth") {
    // Worth first; equal worth: the larger cause, then the newest (the order they are in).
    std::stable_sort(res.mutable_tickets()->begin(), res.mutable_tickets()->end(),
                     [](const v1::ReviewItem& a, const v1::ReviewItem& b) {
                       if (a.worth() != b.worth()) return a.worth() > b.worth();
                       return a.cause_size() > b.cause_size();
                     });
    while (res.tickets_size() > kMost) res.mutable_tickets()->RemoveLast();
  }
  {
    std::lock_guard<std::mutex> l(review_mu_);
    if (review_answers_.size() > 256) review_answers_.clear();  // helpdesks x days x orders
    review_answers_[key] = {now, generation, res};
  }
  return cut(std::move(res));
}

absl::StatusOr<v1::PromoteEmergingResponse> Service::PromoteEmerging(
    const v1::PromoteEmergingRequest& req) {
  v1::EmergingIssue issue;
  if (!d_.emerging.Get(req.emerging_id(), &issue))
    return absl::NotFoundError(absl::StrCat("no emerging issue ", req.emerging_id()));
  if (req.category_id().empty() || req.name().empty())
    return absl::InvalidArgumentError("category_id and name are required");
  if (d_.policy.category(req.category_id()) != nullptr)
    return absl::AlreadyExistsError(
        absl::StrCat("category ", req.category_id(), " exists already"));
  v1::PromotedCategory promoted;
  v1::Category& cat = *promoted.mutable_category();
  cat.set_id(req.category_id());
  cat.set_name(req.name());
  cat.set_kind(req.kind() == v1::CATEGORY_KIND_UNSPECIFIED ? v1::COMPLAINT : req.kind());
  cat.set_description(!req.description().empty()
                          ? req.description()
                          : absl::StrCat("Promoted from emerging issue ", issue.id(), ": ",
                                         absl::StrJoin(issue.top_terms(), ", ")));
  for (const auto& ex : issue.examples()) cat.add_seed_phrases(ex);
  promoted.set_emerging_id(issue.id());
  if (auto s = d_.policy.AddCategory(cat); !s.ok()) return s;
  int64_t tagged = 0;
  absl::Status s = d_.store.Transact([&](spi::StoreTransaction& tx) -> absl::Status {
    tagged = 0;
    std::vector<spi::TicketRecord> members;
    for (const auto& m : issue.members()) {
      auto rec = tx.GetTicket(m.helpdesk_id(), m.ticket_id());
      if (!rec.ok()) return rec.status();
      if (!*rec || (*rec)->agent_corrected) continue;
      promoted.add_examples(absl::StrCat((*rec)->ticket.subject(), "\n", (*rec)->ticket.body()));
      members.push_back(std::move(**rec));
    }
    if (auto st = tx.PutPromotedCategory(promoted); !st.ok()) return st;
    for (spi::TicketRecord& r : members) {
      v1::Classification c;
      c.set_category_id(cat.id());
      c.set_confidence(1.0);
      c.set_model("promoted");
      base::SetTimestamp(c.mutable_classified_at(), d_.clock.Now());
      v1::Reason* why = c.add_reasons();
      why->set_feature(absl::StrCat("emerging issue ", issue.id(), " promoted to ", cat.id()));
      why->set_weight(1.0);
      r.classification = c;
      r.agent_corrected = true;  // an admin decided: the model does not override it
      if (auto st = tx.PutTicket(r); !st.ok()) return st;
      if (auto st = d_.policy.Apply(tx, r.ticket, c); !st.ok()) return st;
      ++tagged;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) {
    d_.policy.RemoveCategory(cat.id());
    return s;
  }
  d_.emerging.Drop(issue.id());
  d_.outbox_changed();
  std::vector<std::string> examples(promoted.examples().begin(), promoted.examples().end());
  if (auto st = d_.classifier.AddCategory(cat, examples); !st.ok()) return st;
  v1::PromoteEmergingResponse res;
  *res.mutable_category() = cat;
  res.set_tickets(tagged);
  return res;
}

}  // namespace debrief::service
