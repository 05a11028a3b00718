// Filters the thumbnails of this page by trade, in place; without JavaScript the trade
// pages (links below the filter) do the same. No cookie, no storage, no request.
(function () {
  "use strict";
  var form = document.querySelector("form.filter");
  if (!form) return;
  var select = form.querySelector("select");
  var more = form.querySelector(".filter-more");
  form.hidden = false;
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  select.addEventListener("change", function () {
    var trade = select.value;
    document.querySelectorAll(".grid .card").forEach(function (card) {
      card.hidden = trade !== "" && card.dataset.trade !== trade;
    });
    var option = select.options[select.selectedIndex];
    more.hidden = trade === "";
    more.querySelector("a").href = trade === "" ? "" : option.dataset.url;
  });
})();
