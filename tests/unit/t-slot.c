/* t-slot: prompts, keys and the rule for accepting an answer. */
#include <stdlib.h>
#include <string.h>

#include "slot.h"
#include "tap.h"

static const char *skel =
	"def create_order(lines):\n"
	"    \"\"\"Make an order.\"\"\"\n"
	"<<<SLOT create_order>>>\n"
	"\n"
	"def cancel_order(order):\n"
	"<<<SLOT cancel_order>>>\n";

static void
norm(const char *answer, const char *want, const char *what)
{
	const char *why;
	char *got = slot_normalize(answer, skel, "create_order", &why);

	is_str(got, want, "%s", what);
	if (!want)
		ok(why != NULL, "%s: says why (%s)", what, why ? why : "-");
	free(got);
}

int
main(void)
{
	const char *after_paths[] = {"app/models/order.py"};
	const char *after_texts[] = {"class Order:\n    id: int\n"};
	struct slot_context c = {"app/services/flow.py", skel, after_paths, after_texts, 1};
	char *sys = slot_system(&c), *u1, *u2, *u3;
	struct digest k1, k2;

	ok(strstr(sys, "File: app/services/flow.py\n-----\n") != NULL, "the system part names the file");
	ok(strstr(sys, "<<<SLOT create_order>>>") && strstr(sys, "<<<SLOT cancel_order>>>"),
		"and shows every slot's place");
	ok(strstr(sys, "Context: app/models/order.py\n-----\nclass Order:") != NULL,
		"and the outputs of after atoms");
	u1 = slot_user("create_order", "Implement it.", "flows.create.name = \"create_order\"\n",
		NULL, NULL);
	is_str(u1, "Fill <<<SLOT create_order>>>.\n\nImplement it.\n\nSpec values:\nflows.create.name = \"create_order\"\n",
		"the user part");
	u2 = slot_user("create_order", "Implement it.", NULL, "    return None", "a.py:3:5: error");
	ok(strstr(u2, "Your previous answer:\n-----\n    return None\n-----\nThe checks found:\na.py:3:5: error\n") != NULL,
		"a retry carries the failed answer and the errors");
	u3 = slot_user("create_order", "Implement it!", "flows.create.name = \"create_order\"\n",
		NULL, NULL);
	k1 = slot_key(sys, u1, "anthropic claude-sonnet-4-5", "t=0.7,0.5,0.3");
	k2 = slot_key(sys, u3, "anthropic claude-sonnet-4-5", "t=0.7,0.5,0.3");
	ok(!digest_eq(k1, k2), "the prompt enters the key");
	k2 = slot_key(sys, u1, "openai gpt-4o", "t=0.7,0.5,0.3");
	ok(!digest_eq(k1, k2), "the provider chain enters the key");
	k2 = slot_key(sys, u1, "anthropic claude-sonnet-4-5", "t=0.9");
	ok(!digest_eq(k1, k2), "sampling settings enter the key");
	k2 = slot_key(sys, u1, "anthropic claude-sonnet-4-5", "t=0.7,0.5,0.3");
	ok(digest_eq(k1, k2), "and the same inputs give the same key");
	free(sys);
	free(u1);
	free(u2);
	free(u3);

	norm("    return make(lines)\n", "    return make(lines)\n", "a plain body is taken as it is");
	norm("\n\n    x = 1\n    return x\n\n\n", "    x = 1\n    return x\n", "blank lines at the ends go");
	norm("Here you go:\n```python\n    return 1\n```\nHope it helps.", "    return 1\n",
		"a fenced answer gives the fence's content");
	norm("def create_order(lines):\n    \"\"\"Make an order.\"\"\"\n    return 2\n\ndef cancel_order(order):\n    pass\n",
		"    return 2\n", "a whole file is cut down to the slot's body");
	norm("    \"\"\"Make an order.\"\"\"\n    return 3\n", NULL,
		"an answer repeating only one side is refused");
	norm("<<<SLOT create_order>>>\n", NULL, "a marker in the answer is refused");
	norm("```\n\n```", NULL, "an empty answer is refused");
	norm("```python\n    return 1\n", NULL, "an unclosed fence is refused");
	return done_testing();
}
