/** Whether a message is a billing question (the triage agent's whole "model"). */
export function isBillingQuestion(text: string): boolean {
  return /\b(bill|billing|billed|invoice|invoices|refund|refunds|charge|charged|charges|payment|pay|paid|subscription|price)\b/i.test(text);
}

/** Whether the customer is done with billing (the billing agent then hands the conversation back to triage). */
export function isGoodbye(text: string): boolean {
  return /\b(thanks|thank you|bye|goodbye|that's all|done)\b/i.test(text);
}
