CREATE TABLE "user_tags" (
	"account_id" varchar(12) NOT NULL,
	"user_name" text NOT NULL,
	"tag_key" text NOT NULL,
	"tag_value" text NOT NULL,
	CONSTRAINT "user_tags_pk" PRIMARY KEY("account_id","user_name","tag_key")
);
