-- The catalogs users choose from: the symbols and leagues Scrollr tracks. `enabled` rows are the ones
-- the feeds update (and the demo generator writes); the rest are known but not followed yet.
CREATE TABLE IF NOT EXISTS tracked_symbols (
    symbol varchar(30) PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL,
    exchange text NOT NULL,
    link text,
    enabled boolean NOT NULL DEFAULT true
);

-- season_months: the months (1-12) in which the league plays, in season order.
CREATE TABLE IF NOT EXISTS tracked_leagues (
    league varchar(50) PRIMARY KEY,
    name text NOT NULL,
    sport text NOT NULL,
    category text NOT NULL,
    country text NOT NULL,
    logo text,
    season_months smallint[] NOT NULL CHECK (season_months <@ ARRAY[1,2,3,4,5,6,7,8,9,10,11,12]::smallint[]),
    enabled boolean NOT NULL DEFAULT true
);

INSERT INTO tracked_symbols (symbol, name, category, exchange, link) VALUES
    ('AAPL', 'Apple Inc.', 'Technology', 'NASDAQ', 'https://finance.yahoo.com/quote/AAPL'),
    ('MSFT', 'Microsoft Corporation', 'Technology', 'NASDAQ', 'https://finance.yahoo.com/quote/MSFT'),
    ('NVDA', 'NVIDIA Corporation', 'Technology', 'NASDAQ', 'https://finance.yahoo.com/quote/NVDA'),
    ('GOOGL', 'Alphabet Inc. Class A', 'Technology', 'NASDAQ', 'https://finance.yahoo.com/quote/GOOGL'),
    ('META', 'Meta Platforms, Inc.', 'Technology', 'NASDAQ', 'https://finance.yahoo.com/quote/META'),
    ('AVGO', 'Broadcom Inc.', 'Technology', 'NASDAQ', 'https://finance.yahoo.com/quote/AVGO'),
    ('AMD', 'Advanced Micro Devices, Inc.', 'Technology', 'NASDAQ', 'https://finance.yahoo.com/quote/AMD'),
    ('CRM', 'Salesforce, Inc.', 'Technology', 'NYSE', 'https://finance.yahoo.com/quote/CRM'),
    ('ORCL', 'Oracle Corporation', 'Technology', 'NYSE', 'https://finance.yahoo.com/quote/ORCL'),
    ('INTC', 'Intel Corporation', 'Technology', 'NASDAQ', 'https://finance.yahoo.com/quote/INTC'),
    ('AMZN', 'Amazon.com, Inc.', 'Consumer', 'NASDAQ', 'https://finance.yahoo.com/quote/AMZN'),
    ('TSLA', 'Tesla, Inc.', 'Consumer', 'NASDAQ', 'https://finance.yahoo.com/quote/TSLA'),
    ('HD', 'The Home Depot, Inc.', 'Consumer', 'NYSE', 'https://finance.yahoo.com/quote/HD'),
    ('PG', 'The Procter & Gamble Company', 'Consumer', 'NYSE', 'https://finance.yahoo.com/quote/PG'),
    ('COST', 'Costco Wholesale Corporation', 'Consumer', 'NASDAQ', 'https://finance.yahoo.com/quote/COST'),
    ('KO', 'The Coca-Cola Company', 'Consumer', 'NYSE', 'https://finance.yahoo.com/quote/KO'),
    ('PEP', 'PepsiCo, Inc.', 'Consumer', 'NASDAQ', 'https://finance.yahoo.com/quote/PEP'),
    ('NKE', 'NIKE, Inc.', 'Consumer', 'NYSE', 'https://finance.yahoo.com/quote/NKE'),
    ('SBUX', 'Starbucks Corporation', 'Consumer', 'NASDAQ', 'https://finance.yahoo.com/quote/SBUX'),
    ('NFLX', 'Netflix, Inc.', 'Communication', 'NASDAQ', 'https://finance.yahoo.com/quote/NFLX'),
    ('DIS', 'The Walt Disney Company', 'Communication', 'NYSE', 'https://finance.yahoo.com/quote/DIS'),
    ('BRK.B', 'Berkshire Hathaway Inc. Class B', 'Financials', 'NYSE', 'https://finance.yahoo.com/quote/BRK-B'),
    ('JPM', 'JPMorgan Chase & Co.', 'Financials', 'NYSE', 'https://finance.yahoo.com/quote/JPM'),
    ('V', 'Visa Inc.', 'Financials', 'NYSE', 'https://finance.yahoo.com/quote/V'),
    ('MA', 'Mastercard Incorporated', 'Financials', 'NYSE', 'https://finance.yahoo.com/quote/MA'),
    ('UNH', 'UnitedHealth Group Incorporated', 'Healthcare', 'NYSE', 'https://finance.yahoo.com/quote/UNH'),
    ('LLY', 'Eli Lilly and Company', 'Healthcare', 'NYSE', 'https://finance.yahoo.com/quote/LLY'),
    ('JNJ', 'Johnson & Johnson', 'Healthcare', 'NYSE', 'https://finance.yahoo.com/quote/JNJ'),
    ('XOM', 'Exxon Mobil Corporation', 'Energy', 'NYSE', 'https://finance.yahoo.com/quote/XOM'),
    ('BA', 'The Boeing Company', 'Industrials', 'NYSE', 'https://finance.yahoo.com/quote/BA'),
    ('BTC-USD', 'Bitcoin', 'Crypto', 'Coinbase', 'https://www.coinbase.com/price/bitcoin'),
    ('ETH-USD', 'Ethereum', 'Crypto', 'Coinbase', 'https://www.coinbase.com/price/ethereum')
ON CONFLICT (symbol) DO NOTHING;

INSERT INTO tracked_symbols (symbol, name, category, exchange, link, enabled) VALUES
    ('SOL-USD', 'Solana', 'Crypto', 'Coinbase', 'https://www.coinbase.com/price/solana', false),
    ('CVX', 'Chevron Corporation', 'Energy', 'NYSE', 'https://finance.yahoo.com/quote/CVX', false)
ON CONFLICT (symbol) DO NOTHING;

INSERT INTO tracked_leagues (league, name, sport, category, country, logo, season_months) VALUES
    ('NFL', 'National Football League', 'football', 'Professional', 'USA',
     'https://a.espncdn.com/i/teamlogos/leagues/500/nfl.png', '{9,10,11,12,1,2}'),
    ('NBA', 'National Basketball Association', 'basketball', 'Professional', 'USA',
     'https://a.espncdn.com/i/teamlogos/leagues/500/nba.png', '{10,11,12,1,2,3,4,5,6}'),
    ('NHL', 'National Hockey League', 'hockey', 'Professional', 'USA',
     'https://a.espncdn.com/i/teamlogos/leagues/500/nhl.png', '{10,11,12,1,2,3,4,5,6}'),
    ('MLB', 'Major League Baseball', 'baseball', 'Professional', 'USA',
     'https://a.espncdn.com/i/teamlogos/leagues/500/mlb.png', '{3,4,5,6,7,8,9,10}'),
    ('College Football', 'NCAA Division I FBS', 'football', 'College', 'USA',
     'https://a.espncdn.com/i/teamlogos/leagues/500/ncaa.png', '{8,9,10,11,12,1}')
ON CONFLICT (league) DO NOTHING;
