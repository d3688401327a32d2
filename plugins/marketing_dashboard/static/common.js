// What the dashboard's views share: one colour per channel, everywhere. Loaded before each
// view's own script.
"use strict";

// One colour per channel, everywhere (GA4 default channel names; others get a stable one).
const CHANNEL_COLOURS = {
  "Paid Search": "#1f77b4",
  "Paid Social": "#ff7f0e",
  "Display": "#d62728",
  "Email": "#2ca02c",
  "Affiliates": "#9467bd",
  "Paid Video": "#8c564b",
  "Paid Shopping": "#e377c2",
  "Organic Search": "#17becf",
  "Organic Social": "#bcbd22",
  "Organic Video": "#aec7e8",
  "Organic Shopping": "#ffbb78",
  "Referral": "#98df8a",
  "Direct": "#7f7f7f",
  "SMS": "#c5b0d5",
  "Mobile Push Notifications": "#c49c94",
  "Audio": "#f7b6d2",
  "Cross-network": "#dbdb8d",
  "Paid Other": "#9edae5",
  "Unassigned": "#c7c7c7",
  "Unattributed": "#525252",
  "Other channels": "#a3acb9",
};
const EXTRA_COLOURS = ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354"];

function channelColour(channel) {
  if (CHANNEL_COLOURS[channel]) return CHANNEL_COLOURS[channel];
  let hash = 0;
  for (const ch of channel) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return EXTRA_COLOURS[hash % EXTRA_COLOURS.length];
}
